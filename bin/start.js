#!/usr/bin/env node
// `npm start`: the desktop app when the Electron binary is installed; otherwise the same UI in the
// default browser, served on 127.0.0.1 by `svw serve`.
import { spawn } from 'node:child_process';
import { findElectronBinary } from '../dist/electron/launch.js';
import { ROOT, checkSqliteForElectron } from './electron-native.js';

const electron = findElectronBinary();
if (electron) {
  // Node's build of better-sqlite3 cannot load in Electron: say how to fix it in one line
  // rather than let the app crash opening its database.
  const sqlite = checkSqliteForElectron();
  if (!sqlite.ok) {
    console.error(`svw: ${sqlite.message}`);
    process.exit(1);
  }
  const env = { ...process.env };
  if (sqlite.binding) env.SVW_SQLITE_BINDING = sqlite.binding;
  const child = spawn(electron, [ROOT], { stdio: 'inherit', env });
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
