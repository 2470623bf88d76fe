import type { MethodInput } from '../../../core/api/contract';

/** Pure pieces of the dataset import form: its fields, defaults and checks. */

/** The import form as typed: numbers stay text until submitted, so half-typed values survive. */
export interface ImportForm {
  path: string;
  name: string;
  size: string;
  valSplit: string;
  maxPerClass: string;
  labels: 'folders' | 'filename';
}
export type ImportField = keyof ImportForm;
export type FieldErrors = Partial<Record<ImportField, string>>;

export function emptyImportForm(): ImportForm {
  return { path: '', name: '', size: '', valSplit: '', maxPerClass: '', labels: 'folders' };
}

/** The last segment of a folder path, POSIX or Windows: "/data/flowers/" → "flowers". */
export function folderName(path: string): string {
  const segments = path
    .trim()
    .split(/[\\/]+/)
    .filter(Boolean);
  const last = segments.at(-1) ?? '';
  return /^[A-Za-z]:$/.test(last) ? '' : last.slice(0, 200);
}

/**
 * The importDataset input the form describes, or what is wrong with each field. The same
 * limits as the contract, checked here so mistakes show beside their field before any call.
 */
export function checkImportForm(
  form: ImportForm,
): { input: MethodInput<'importDataset'>; errors: null } | { input: null; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const path = form.path.trim();
  const name = form.name.trim();
  if (!path) errors.path = 'Enter the folder to import.';
  if (!name) errors.name = 'Give the dataset a name.';
  else if (name.length > 200) errors.name = 'At most 200 characters.';
  const size = optionalNumber(form.size);
  if (size !== undefined && !(Number.isInteger(size) && size >= 8 && size <= 1024))
    errors.size = 'A whole number of pixels from 8 to 1024.';
  const valSplit = optionalNumber(form.valSplit);
  if (valSplit !== undefined && !(valSplit >= 0 && valSplit <= 0.9))
    errors.valSplit = 'A fraction from 0 to 0.9, e.g. 0.1 for 10%.';
  const maxPerClass = optionalNumber(form.maxPerClass);
  if (maxPerClass !== undefined && !(Number.isInteger(maxPerClass) && maxPerClass > 0))
    errors.maxPerClass = 'A whole number above 0.';
  if (Object.keys(errors).length > 0) return { input: null, errors };
  return {
    input: { path, name, size, valSplit, maxPerClass, labels: form.labels },
    errors: null,
  };
}

const FIELDS: readonly string[] = ['path', 'name', 'size', 'valSplit', 'maxPerClass', 'labels'];

/** Whether an ApiError's path names a form field (so its message goes beside that field). */
export function isImportField(path: string | undefined): path is ImportField {
  return path !== undefined && FIELDS.includes(path);
}

/** Blank means "the host's default"; anything else is parsed (NaN fails the checks). */
function optionalNumber(text: string): number | undefined {
  return text.trim() === '' ? undefined : Number(text);
}
