import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { svwJson, svwSpawn, tempDir, waitFor } from '../helpers/cli.js';

const RUNNING = /running at (http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64})/;

/**
 * The app (here `svw serve`) trains while the CLI reads and writes the same SVW_HOME: no
 * "database is locked", nothing lost, and the CLI never takes the app's live run for a dead one.
 */
describe('two hosts on one workbench home', () => {
  const home = tempDir('svw-two-hosts-');
  const env = { SVW_HOME: home.dir };
  let serve: ReturnType<typeof svwSpawn>;
  let base: string;
  let token: string;

  beforeAll(async () => {
    serve = svwSpawn(['serve', '--port', '0', '--backend', 'wasm'], env);
    let stdout = '';
    serve.child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const url = new URL(await waitFor(() => RUNNING.exec(stdout)?.[1], 60_000, 'the URL'));
    base = url.origin;
    token = url.searchParams.get('token')!;
  });
  afterAll(async () => {
    serve.child.kill('SIGTERM');
    await serve.done;
    home.cleanup();
  });

  const call = async <T>(method: string, input: unknown): Promise<T> => {
    const res = await fetch(`${base}/api/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-svw-token': token },
      body: JSON.stringify(input),
    });
    const body = (await res.json()) as { ok: boolean; result: T; error?: { message: string } };
    if (!body.ok) throw new Error(`${method}: ${body.error?.message}`);
    return body.result;
  };

  it('lets the CLI tag, note and list while the app trains and writes metrics', async () => {
    const { runId } = await call<{ runId: number }>('startDemo', { epochs: 2 });
    const cli: { args: string[]; stderr: string; code: number | null }[] = [];
    let status = 'queued';
    for (let i = 0; status !== 'completed' && status !== 'failed'; i++) {
      const args =
        i % 3 === 0
          ? ['runs', 'tag', String(runId), `k${i}=v${i}`]
          : i % 3 === 1
            ? ['runs', 'note', String(runId), `note ${i}`]
            : ['runs', 'list', '--json'];
      const { code, stderr } = await svwSpawn(args, env).done;
      cli.push({ args, stderr, code });
      status = (await call<{ run: { status: string } }>('getRun', { id: runId })).run.status;
      // The CLI opened the database while the run was live: it must still be running, not
      // marked interrupted by a host that thought its owner had died.
      expect(status).not.toBe('interrupted');
    }
    expect(status).toBe('completed');
    expect(cli.length).toBeGreaterThan(3);
    expect(cli.filter((c) => c.code !== 0 || /locked|busy/i.test(c.stderr))).toEqual([]);

    const shown = svwJson<{ tags: Record<string, string>; notes: { text: string }[] }>(
      ['runs', 'show', String(runId), '--json'],
      env,
    );
    const tagged = cli.filter((c) => c.args[1] === 'tag').length;
    const noted = cli.filter((c) => c.args[1] === 'note').length;
    expect(Object.keys(shown.tags)).toHaveLength(tagged);
    expect(shown.notes).toHaveLength(noted);
    const metrics = await call<{ key: string; total: number }[]>('runMetrics', {
      id: runId,
      keys: ['epoch_train_loss'],
    });
    expect(metrics[0]?.total).toBe(2);
  });
});
