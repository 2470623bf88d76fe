export declare const ROOT: string;
export declare const ELECTRON_SQLITE_BINDING: string;
export declare const NODE_SQLITE_BINDING: string;
export declare const REBUILD_COMMAND: string;
export interface ElectronRuntime {
  version: string;
  abi: number | null;
}
export declare function moduleAbi(binary: Uint8Array | null): number | null;
export declare function electronRuntime(
  read?: (p: string) => string | null,
): ElectronRuntime | null;
export type SqliteChoice = { ok: true; binding: string | null } | { ok: false; message: string };
export declare function sqliteForElectron(found: {
  electron: ElectronRuntime;
  electronBuild: number | null;
  electronBuildExists: boolean;
  nodeBuild: number | null;
}): SqliteChoice;
export declare function checkSqliteForElectron(): SqliteChoice;
export declare function installPlan(found: {
  binary: string | null;
  electron: ElectronRuntime | null;
  electronBuild: number | null;
  force: boolean;
}): { action: 'skip'; reason: string } | { action: 'build'; version: string };
