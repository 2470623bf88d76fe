#!/usr/bin/env node
// `npm start`: the desktop app when the Electron binary is installed; otherwise the same UI in the
// default browser, served on 127.0.0.1 by `svw serve`.
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
    'Electron is not installed on this machine (its binary download failed or was skipped); starting serve mode in your browser instead.',
  );
  const { main } = await import('../dist/core/cli/main.js');
  // Any free port: the printed URL carries a fresh token anyway, and a busy default port
  // would otherwise stop a newcomer who cannot pass --port through npm start.
  process.exitCode = await main(['serve', '--open', '--port', '0']);
}
