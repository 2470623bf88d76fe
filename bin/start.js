#!/usr/bin/env node
// `npm start`: the desktop app when the Electron binary is installed; otherwise the headless demo
// on the bundled dataset (import it, train alexnet-cifar, show the results).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findElectronBinary } from '../dist/electron/launch.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const electron = findElectronBinary();
if (electron) {
  const child = spawn(electron, [root], { stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  console.log(
    'Electron is not installed on this machine (its binary download failed or was skipped); running the headless demo instead.',
  );
  const { main } = await import('../dist/core/cli/main.js');
  process.exitCode = await main(['demo']);
}
