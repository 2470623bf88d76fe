/** A column of the runs table. */
export interface RunColumn {
  id: string;
  label: string;
  /** The `listRuns` sort key (see core/store/run-list.ts); absent where the host cannot sort. */
  sort?: string;
  /** Sort descending on the first click (newest ids first). */
  firstDescending?: boolean;
  numeric?: boolean;
  width: number;
  title?: string;
}

/** The columns after the selection checkbox, in order. */
export const RUN_COLUMNS: RunColumn[] = [
  { id: 'id', label: 'ID', sort: 'id', firstDescending: true, numeric: true, width: 56 },
  { id: 'name', label: 'Name', sort: 'name', width: 140 },
  { id: 'status', label: 'Status', sort: 'status', width: 92 },
  { id: 'experiment', label: 'Experiment', sort: 'experiment', width: 100 },
  { id: 'dataset', label: 'Dataset', sort: 'dataset', width: 100 },
  { id: 'preset', label: 'Preset', sort: 'preset', width: 104 },
  { id: 'lr', label: 'LR', sort: 'params.optim.lr', numeric: true, width: 64 },
  { id: 'batch', label: 'Batch', sort: 'params.batchSize', numeric: true, width: 56 },
  {
    id: 'epochs',
    label: 'Epochs',
    sort: 'epochs_done',
    numeric: true,
    width: 84,
    title: 'Epochs done / total',
  },
  {
    id: 'top1',
    label: 'Top-1',
    sort: 'metrics.val_top1_error.min',
    numeric: true,
    width: 64,
    title: 'Best validation top-1 error (%)',
  },
  {
    id: 'top5',
    label: 'Top-5',
    sort: 'metrics.val_top5_error.min',
    numeric: true,
    width: 64,
    title: 'Best validation top-5 error (%)',
  },
  {
    id: 'retrieval',
    label: 'P@k',
    numeric: true,
    width: 76,
    title: 'Best retrieval precision@k',
  },
  {
    id: 'duration',
    label: 'Time',
    numeric: true,
    width: 72,
    title: 'How long the run took, or has been running',
  },
  { id: 'backend', label: 'Engine', sort: 'backend', width: 64 },
];
