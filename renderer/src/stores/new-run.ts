import { defineStore } from 'pinia';
import { computed, onScopeDispose, ref, watch } from 'vue';
import type { CheckResult, PresetInfo, SettingsInfo } from '../../../core/api/contract';
import type { DatasetRow } from '../../../core/store/datasets';
import { ApiError, client } from '../api/client';
import { buildRequest, checkVariants, fieldOfError } from '../components/new-run/request';
import {
  defaultText,
  fieldNames,
  fieldSpecs,
  formFromSettings,
} from '../components/new-run/settings';

type CheckError = Extract<CheckResult, { ok: false }>['errors'][number];

export const CHECK_DEBOUNCE_MS = 300;
const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** The New run form: dataset, preset, fields, ablations, sweeps, validation and submission. */
export const useNewRunStore = defineStore('new-run', () => {
  const datasets = ref<DatasetRow[]>([]);
  const presets = ref<PresetInfo[]>([]);
  /** Every setting, as the host describes it: the fields, their groups, kinds and help. */
  const settings = ref<SettingsInfo>({ groups: [], settings: [], shorthands: [] });
  const loaded = ref(false);
  const loadError = ref<string | null>(null);

  const datasetId = ref<number | null>(null);
  const presetName = ref('');
  /** Field texts by key, as typed. */
  const values = ref<Record<string, string>>({});
  const ablations = ref<boolean[]>([]);
  /** Settings no field or ablation shows (kept from a clone so nothing is lost). */
  const extra = ref<string[]>([]);
  const experiment = ref('');
  const name = ref('');

  const checkErrors = ref<CheckError[]>([]);
  const checking = ref(false);
  const submitting = ref(false);
  const submitError = ref<string | null>(null);
  const schedule = ref<{ epoch: number; lr: number }[]>([]);
  const scheduleError = ref<string | null>(null);

  const preset = computed(() => presets.value.find((p) => p.name === presetName.value) ?? null);
  const specs = computed(() => (preset.value ? fieldSpecs(settings.value, preset.value) : []));
  const names = computed(() => fieldNames(settings.value, specs.value));
  const ablationSettings = computed(() =>
    (preset.value?.ablations ?? []).filter((_, i) => ablations.value[i]).map((a) => a.setting),
  );
  const request = computed(() =>
    buildRequest(specs.value, names.value, values.value, [
      ...ablationSettings.value,
      ...extra.value,
    ]),
  );
  const runCount = computed(() => request.value.runCount);

  /** Errors by field: the form's own first, then the host's. */
  const fieldErrors = computed(() => {
    const out: Record<string, string> = {};
    for (const e of checkErrors.value) {
      const key = fieldOfError(e.setting, request.value.settings, names.value);
      if (key && !request.value.overridden[key]) out[key] ??= e.message;
    }
    return { ...out, ...request.value.errors };
  });
  /** Host errors no field can show. */
  const generalErrors = computed(() =>
    checkErrors.value
      .filter((e) => {
        const key = fieldOfError(e.setting, request.value.settings, names.value);
        return !key || request.value.overridden[key];
      })
      .map((e) =>
        e.setting && !e.message.includes(e.setting) ? `${e.setting}: ${e.message}` : e.message,
      ),
  );
  const canSubmit = computed(
    () =>
      loaded.value &&
      preset.value !== null &&
      datasetId.value !== null &&
      !submitting.value &&
      Object.keys(fieldErrors.value).length === 0 &&
      generalErrors.value.length === 0,
  );

  async function load(): Promise<void> {
    try {
      const [d, p, s] = await Promise.all([
        client().api.listDatasets({}),
        client().api.presets({}),
        client().api.settings({}),
      ]);
      datasets.value = d;
      presets.value = p;
      settings.value = s;
      if (!d.some((x) => x.id === datasetId.value)) datasetId.value = d[0]?.id ?? null;
      if (!preset.value && p[0]) selectPreset(p[0].name);
      loaded.value = true;
      loadError.value = null;
    } catch (err) {
      loadError.value = messageOf(err);
    }
  }

  /** Switches preset: every field back to that preset's default, no ablations. */
  function selectPreset(name: string): void {
    presetName.value = name;
    const found = presets.value.find((p) => p.name === name);
    values.value = Object.fromEntries(
      (found ? fieldSpecs(settings.value, found) : []).map((s) => [s.key, defaultText(s.default)]),
    );
    ablations.value = (found?.ablations ?? []).map(() => false);
    extra.value = [];
    checkErrors.value = [];
  }

  function setValue(key: string, text: string): void {
    values.value = { ...values.value, [key]: text };
  }

  function resetValue(key: string): void {
    const spec = specs.value.find((s) => s.key === key);
    if (spec) setValue(key, defaultText(spec.default));
  }

  function setAblation(index: number, on: boolean): void {
    const next = ablations.value.slice();
    next[index] = on;
    ablations.value = next;
  }

  function removeExtra(setting: string): void {
    extra.value = extra.value.filter((s) => s !== setting);
  }

  let checkSeq = 0;
  /** Asks the host whether the settings (every sweep value) make a valid run; true when they do. */
  async function validate(): Promise<boolean> {
    const mine = ++checkSeq;
    const current = preset.value;
    if (!current || Object.keys(request.value.errors).length > 0) return false;
    checking.value = true;
    try {
      const results = await Promise.all(
        checkVariants(request.value).map((settings) =>
          client().api.checkRun({
            preset: current.name,
            settings,
            ...(datasetId.value === null ? {} : { datasetId: datasetId.value }),
          }),
        ),
      );
      if (mine !== checkSeq) return false;
      // Sweep variants often fail the same way; say it once.
      const unique = new Map<string, CheckError>();
      for (const r of results)
        if (!r.ok) for (const e of r.errors) unique.set(`${e.setting}\n${e.message}`, e);
      checkErrors.value = [...unique.values()];
      return checkErrors.value.length === 0;
    } catch (err) {
      if (mine !== checkSeq) return false;
      checkErrors.value = [{ setting: null, message: messageOf(err) }];
      return false;
    } finally {
      if (mine === checkSeq) checking.value = false;
    }
  }

  let previewSeq = 0;
  /** The lr-per-epoch preview of the settings (a sweep previews its first values). */
  async function preview(): Promise<void> {
    const mine = ++previewSeq;
    const current = preset.value;
    if (!current || Object.keys(request.value.errors).length > 0) return;
    try {
      const points = await client().api.schedulePreview({
        preset: current.name,
        settings: checkVariants(request.value)[0]!,
      });
      if (mine !== previewSeq) return;
      schedule.value = points;
      scheduleError.value = null;
    } catch (err) {
      if (mine === previewSeq) scheduleError.value = messageOf(err);
    }
  }

  let timer: ReturnType<typeof setTimeout> | null = null;
  // Check and preview once typing pauses; the key is the request's content, not its identity.
  watch(
    () =>
      JSON.stringify([
        presetName.value,
        datasetId.value,
        request.value.settings,
        request.value.sweep,
      ]),
    () => {
      if (timer) clearTimeout(timer);
      if (!preset.value) return;
      timer = setTimeout(() => {
        timer = null;
        void validate();
        void preview();
      }, CHECK_DEBOUNCE_MS);
    },
  );
  // A disposed store (a closed window, the next test) must not call the host a beat later.
  onScopeDispose(() => {
    if (timer) clearTimeout(timer);
  });

  /** Fills the form from an existing run (`?clone=<id>`). */
  async function prefillFromClone(id: number): Promise<void> {
    if (!loaded.value) await load();
    try {
      const clone = await client().api.cloneRun({ id });
      const found = presets.value.find((p) => p.name === clone.preset);
      if (!found)
        throw new Error(
          `run ${id} used the preset '${clone.preset}', which this host does not have`,
        );
      selectPreset(found.name);
      if (clone.datasetId !== null && datasets.value.some((d) => d.id === clone.datasetId))
        datasetId.value = clone.datasetId;
      experiment.value = clone.experiment;
      name.value = '';
      const form = formFromSettings(settings.value, found, clone.settings);
      values.value = { ...values.value, ...form.values };
      ablations.value = form.ablations;
      extra.value = form.extra;
      loadError.value = null;
    } catch (err) {
      loadError.value = `Could not copy run ${id}: ${messageOf(err)}`;
    }
  }

  /** Creates the run(s); returns their ids, or null when the form or the host said no. */
  async function submit(start: boolean): Promise<number[] | null> {
    const current = preset.value;
    submitError.value = null;
    if (!current || datasetId.value === null) {
      submitError.value = 'Choose a dataset and a preset first.';
      return null;
    }
    submitting.value = true;
    try {
      if (!(await validate())) return null;
      const { settings, sweep } = request.value;
      const { runIds } = await client().api.createRuns({
        datasetId: datasetId.value,
        preset: current.name,
        settings,
        ...(Object.keys(sweep).length > 0 ? { sweep } : {}),
        ...(experiment.value.trim() ? { experiment: experiment.value.trim() } : {}),
        ...(name.value.trim() ? { name: name.value.trim() } : {}),
        start,
      });
      name.value = '';
      return runIds;
    } catch (err) {
      const key =
        err instanceof ApiError
          ? fieldOfError(err.path, request.value.settings, names.value)
          : null;
      // A setting the host refused at creation is shown on its field, like a check error.
      if (key) checkErrors.value = [{ setting: key, message: messageOf(err) }];
      else submitError.value = messageOf(err);
      return null;
    } finally {
      submitting.value = false;
    }
  }

  return {
    datasets,
    presets,
    settings,
    loaded,
    loadError,
    datasetId,
    presetName,
    values,
    ablations,
    extra,
    experiment,
    name,
    checking,
    submitting,
    submitError,
    schedule,
    scheduleError,
    preset,
    specs,
    request,
    runCount,
    fieldErrors,
    generalErrors,
    canSubmit,
    load,
    selectPreset,
    setValue,
    resetValue,
    setAblation,
    removeExtra,
    validate,
    preview,
    prefillFromClone,
    submit,
  };
});
