/** How long a dying worker waits for its last report to reach the host before it exits anyway. */
const REPORT_GRACE_MS = 5_000;

/**
 * Makes a job worker say why it dies. An exception nobody caught, or a rejection nobody
 * handled, is reported (`report`, which sends it to the host as the job's error) before the
 * process exits with code 1; otherwise it would reach only stderr, which nobody reads, and the
 * run would end with a bare exit code.
 *
 * The uncaught-exception capture callback sees everything, also what the listeners that the
 * wasm backend's Emscripten runtime adds to 'unhandledRejection' rethrow. Call once, first.
 */
export function reportFatalErrors(
  report: (err: unknown) => Promise<void>,
  exit: (code: number) => void = (code) => process.exit(code),
): void {
  let dying = false;
  const die = (err: unknown) => {
    if (dying) return;
    dying = true;
    // The host may be gone, or its channel full: never hang on the way out.
    setTimeout(() => exit(1), REPORT_GRACE_MS).unref();
    report(err)
      .catch(() => {})
      .finally(() => exit(1));
  };
  process.setUncaughtExceptionCaptureCallback(die);
  process.on('unhandledRejection', die);
}
