import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type {
  MethodInput,
  MethodName,
  MethodOutputs,
  PushEvent,
  WorkbenchBridge,
} from '../core/api/contract.js';
import type { Channels } from './ipc.js';

/*
 * The bridge between the page and the main process. A sandboxed preload is CommonJS and may
 * require nothing but 'electron', so everything else here is a type; the page gets named
 * functions only, never ipcRenderer itself.
 */

const channels: Channels = { call: 'workbench:call', event: 'workbench:event' };

function method<M extends MethodName>(name: M) {
  return (input: MethodInput<M>) =>
    ipcRenderer.invoke(channels.call, name, input) as Promise<MethodOutputs[M]>;
}

const workbench = {
  info: method('info'),
  listRuns: method('listRuns'),
  getRun: method('getRun'),
  runMetrics: method('runMetrics'),
  runEvaluation: method('runEvaluation'),
  runMistakes: method('runMistakes'),
  runLogs: method('runLogs'),
  presets: method('presets'),
  settings: method('settings'),
  checkRun: method('checkRun'),
  schedulePreview: method('schedulePreview'),
  createRuns: method('createRuns'),
  startRun: method('startRun'),
  cancelRun: method('cancelRun'),
  resumeRun: method('resumeRun'),
  cloneRun: method('cloneRun'),
  deleteRun: method('deleteRun'),
  tagRun: method('tagRun'),
  noteRun: method('noteRun'),
  exportRun: method('exportRun'),
  compareRuns: method('compareRuns'),
  listDatasets: method('listDatasets'),
  getDataset: method('getDataset'),
  datasetImages: method('datasetImages'),
  importDataset: method('importDataset'),
  removeDataset: method('removeDataset'),
  pickFolder: method('pickFolder'),
  listIndexes: method('listIndexes'),
  buildIndex: method('buildIndex'),
  search: method('search'),
  startDemo: method('startDemo'),
  onEvent(listener: (event: PushEvent) => void): () => void {
    // A fresh wrapper per subscription, so unsubscribing removes exactly this one.
    const forward = (_event: IpcRendererEvent, pushed: PushEvent) => listener(pushed);
    ipcRenderer.on(channels.event, forward);
    return () => {
      ipcRenderer.removeListener(channels.event, forward);
    };
  },
} satisfies WorkbenchBridge;

contextBridge.exposeInMainWorld('workbench', workbench);
