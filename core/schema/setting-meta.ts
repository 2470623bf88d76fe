import { z } from 'zod';

/**
 * What a setting says about itself, registered on the zod schema that validates it
 * (`z.number().positive().register(settingMeta, { group: 'optim', help: '…' })`). The schema
 * gives its kind, range and choices; the preset configs give its defaults; this gives the rest.
 * core/schema/settings.ts turns them into the descriptors the CLI and the New run form read.
 */
export interface SettingMeta {
  group: SettingGroup;
  /** One line: what it changes, in the user's words. */
  help: string;
  /** What its number counts (`px`, `epochs`, `images`), when that is not obvious. */
  unit?: string;
  /** Short names `--set` also takes (`lr` for `optim.lr`). */
  aliases?: string[];
  /** The host sets it from the dataset's images when a run is made, so the form has no field. */
  fromDataset?: boolean;
}

/** The form's fieldsets and the CLI help's sections, in their order. */
export const SETTING_GROUPS = [
  { id: 'optim', label: 'Optimisation' },
  { id: 'schedule', label: 'Schedule' },
  { id: 'data', label: 'Data and augmentation' },
  { id: 'model', label: 'Model' },
  { id: 'run', label: 'Run' },
] as const;

export type SettingGroup = (typeof SETTING_GROUPS)[number]['id'];

/** The registry of setting schemas; a schema without an entry is no setting (`model.preset`). */
export const settingMeta = z.registry<SettingMeta>();

/** Meta for the settings of one group: `const optim = inGroup('optim'); optim('learning rate')`. */
export const inGroup =
  (group: SettingGroup) =>
  (help: string, more: Omit<SettingMeta, 'group' | 'help'> = {}): SettingMeta => ({
    group,
    help,
    ...more,
  });
