import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EventFileReader, eventFileWriter, messagesBefore } from '../../core/jobs/event-file.js';
import { tempDir } from '../helpers/cli.js';

const tmp = tempDir('svw-events-');
afterAll(() => tmp.cleanup());
let n = 0;
const file = () => path.join(tmp.dir, `events-${n++}.jsonl`);
const values = (lines: ReturnType<EventFileReader['read']>) =>
  lines.map((l) => (l.ok ? l.value : l.problem));

describe('event files', () => {
  it('hands out each message the writer appended, once, in order', () => {
    const f = file();
    const writer = eventFileWriter(f);
    const reader = new EventFileReader(f);
    expect(reader.read()).toEqual([]);
    writer.append({ type: 'log', level: 'info', message: 'a' });
    writer.append({ type: 'epoch', epochsDone: 1 });
    expect(values(reader.read())).toEqual([
      { type: 'log', level: 'info', message: 'a' },
      { type: 'epoch', epochsDone: 1 },
    ]);
    expect(reader.read()).toEqual([]);
    writer.append({ type: 'epoch', epochsDone: 2 });
    const [third] = reader.read();
    expect(third).toMatchObject({ ok: true, line: 3, value: { type: 'epoch', epochsDone: 2 } });
    expect(third!.end).toBe(readFileSync(f).length);
    writer.close();
  });

  it('waits for a line still being written, and hands it out once it ends', () => {
    const f = file();
    writeFileSync(f, '{"type":"epoch","epochsDone":1}\n{"type":"epo');
    const reader = new EventFileReader(f);
    expect(values(reader.read())).toEqual([{ type: 'epoch', epochsDone: 1 }]);
    expect(reader.unfinished()).toBe(Buffer.byteLength(`{"type":"epo`));
    expect(reader.read()).toEqual([]);
    appendFileSync(f, 'ch","epochsDone":2}\n');
    expect(values(reader.read())).toEqual([{ type: 'epoch', epochsDone: 2 }]);
    expect(reader.unfinished()).toBe(0);
  });

  it('resumes from a stored offset and line without handing out anything twice', () => {
    const f = file();
    const writer = eventFileWriter(f);
    for (let i = 1; i <= 3; i++) writer.append({ type: 'epoch', epochsDone: i });
    const first = new EventFileReader(f).read();
    // A host stored the position after the second line, then died.
    const { end, line } = first[1]!;
    writer.append({ type: 'epoch', epochsDone: 4 });
    const resumed = new EventFileReader(f, end, line).read();
    expect(resumed.map((l) => l.line)).toEqual([3, 4]);
    expect(values(resumed)).toEqual([
      { type: 'epoch', epochsDone: 3 },
      { type: 'epoch', epochsDone: 4 },
    ]);
    writer.close();
  });

  it('reports a garbled line with its number and goes on with the next', () => {
    const f = file();
    writeFileSync(
      f,
      '{"type":"epoch","epochsDone":1}\n{"type":"metr\n\nnot json at all\n{"type":"epoch","epochsDone":2}\n',
    );
    const lines = new EventFileReader(f).read();
    expect(lines.map((l) => [l.line, l.ok])).toEqual([
      [1, true],
      [2, false],
      [4, false],
      [5, true],
    ]);
    expect(values(lines)[1]).toMatch(
      /^line 2 of the event file is not a message \(.+\): \{"type":"metr$/,
    );
    expect(values(lines)[2]).toMatch(/^line 4 .*not json at all$/);
    expect(lines.at(-1)!.end).toBe(readFileSync(f).length);
  });

  it('hands out the unfinished last line as cut off once the writer is gone', () => {
    const f = file();
    writeFileSync(f, '{"type":"epoch","epochsDone":1}\n{"type":"metrics","met');
    const reader = new EventFileReader(f);
    reader.read();
    expect(reader.finish()).toEqual({
      line: 2,
      end: readFileSync(f).length,
      ok: false,
      problem:
        'line 2 of the event file was cut off after 22 bytes (the worker stopped while writing it)',
    });
    expect(reader.finish()).toBeNull();
    expect(reader.offset).toBe(readFileSync(f).length);
  });

  it('counts bytes, not characters, so offsets hold for any text', () => {
    const f = file();
    const writer = eventFileWriter(f);
    writer.append({ type: 'log', level: 'info', message: 'σ→∞ 日本' });
    writer.append({ type: 'epoch', epochsDone: 1 });
    const [first] = new EventFileReader(f).read();
    const rest = new EventFileReader(f, first!.end, first!.line).read();
    expect(values(rest)).toEqual([{ type: 'epoch', epochsDone: 1 }]);
    writer.close();
  });

  it('has nothing to read before the worker has made its file', () => {
    const reader = new EventFileReader(path.join(tmp.dir, 'never.jsonl'));
    expect(reader.read()).toEqual([]);
    expect(reader.unfinished()).toBe(0);
    expect(reader.finish()).toBeNull();
  });

  it('reads back the last messages before an offset, for a host taking a job over', () => {
    const f = file();
    const writer = eventFileWriter(f);
    for (let i = 1; i <= 50; i++) writer.append({ type: 'epoch', epochsDone: i });
    writer.append({ type: 'done', status: 'completed' });
    writer.close();
    const size = readFileSync(f).length;
    expect(messagesBefore(f, size).at(-1)).toEqual({ type: 'done', status: 'completed' });
    expect(messagesBefore(f, size)).toHaveLength(51);
    // Within the last 100 bytes: only whole lines, never the piece of one cut by the window.
    const tail = messagesBefore(f, size, 100) as { type: string; epochsDone?: number }[];
    expect(tail.length).toBeGreaterThan(1);
    expect(tail.slice(0, -1).every((m) => m.type === 'epoch' && m.epochsDone! > 45)).toBe(true);
    expect(messagesBefore(path.join(tmp.dir, 'none.jsonl'), 10)).toEqual([]);
  });
});
