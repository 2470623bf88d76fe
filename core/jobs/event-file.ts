import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { readRange } from '../util/read-range.js';

/**
 * A job's event file: the worker's messages, one JSON document per line, appended and flushed
 * one at a time, so the host on another machine can follow the job through a shared file
 * system. The host remembers how far it has read (bytes and lines) with what it wrote from it.
 */

/** The worker's side: appends each message as one line and flushes it to the file system. */
export function eventFileWriter(file: string) {
  const fd = openSync(file, 'a');
  return {
    append(message: unknown): void {
      // One write of the whole line: an appended line is never interleaved or half-replaced.
      writeSync(fd, JSON.stringify(message) + '\n');
      // To the file server too, so a reader on another machine sees it now, not at close.
      fdatasyncSync(fd);
    },
    close: () => closeSync(fd),
  };
}

/** A line that is no message: not JSON, or cut off. */
export type BadLine = { line: number; end: number; ok: false; problem: string };

/** One line of an event file, with the byte offset just after it. */
export type EventLine = { line: number; end: number; ok: true; value: unknown } | BadLine;

/** At most this much is read per call; one message is far smaller. */
const CHUNK = 16 * 2 ** 20;
const NEWLINE = 0x0a;

/** The host's side: hands out the complete lines written since the last call. */
export class EventFileReader {
  private position: number;
  private lineNo: number;

  /** Starts after `offset` bytes, which held `line` lines (both 0 for a new file). */
  constructor(
    readonly file: string,
    offset = 0,
    line = 0,
  ) {
    this.position = offset;
    this.lineNo = line;
  }

  /** Bytes handed out so far (the offset to resume from), and their lines. */
  get offset(): number {
    return this.position;
  }

  get lines(): number {
    return this.lineNo;
  }

  /**
   * The complete lines appended since the last call, parsed. A line the writer has not finished
   * (no newline yet) waits for the next call. A missing file has no lines yet.
   */
  read(): EventLine[] {
    const chunk = this.readFrom(this.position);
    if (!chunk) return [];
    const last = chunk.lastIndexOf(NEWLINE);
    // A line longer than a whole chunk is no message of ours: hand it out as a bad one.
    const usable = last < 0 ? (chunk.length === CHUNK ? chunk.length : 0) : last + 1;
    const out: EventLine[] = [];
    let start = 0;
    while (start < usable) {
      const nl = chunk.indexOf(NEWLINE, start);
      const stop = nl < 0 || nl >= usable ? usable : nl;
      const text = chunk.subarray(start, stop).toString('utf8');
      start = stop + 1;
      this.lineNo++;
      const end = this.position + Math.min(start, usable);
      if (text.trim() === '') continue;
      out.push(parseLine(text, this.lineNo, end));
    }
    this.position += usable;
    return out;
  }

  /** Bytes after the last complete line: a line being written, or one its writer never ended. */
  unfinished(): number {
    return this.size() - this.position;
  }

  /**
   * Hands out the unfinished last line as a bad one, once the writer is known to be gone (its
   * job has ended): the worker died in the middle of writing it.
   */
  finish(): BadLine | null {
    const rest = this.readFrom(this.position);
    if (!rest || rest.length === 0) return null;
    this.position += rest.length;
    this.lineNo++;
    return {
      line: this.lineNo,
      end: this.position,
      ok: false,
      problem: `line ${this.lineNo} of the event file was cut off after ${rest.length} bytes (the worker stopped while writing it)`,
    };
  }

  private size(): number {
    return readRange(this.file, () => ({ start: 0, length: 0 }))?.size ?? this.position;
  }

  /** The bytes after `from`, at most a chunk of them. */
  private readFrom(from: number): Buffer | null {
    const read = readRange(this.file, (size) => ({
      start: from,
      length: Math.min(size - from, CHUNK),
    }));
    return read && read.bytes.length > 0 ? read.bytes : null;
  }
}

/**
 * The messages on the complete lines within `bytes` before `offset` (a host taking a job over
 * reads what its predecessor stored last: whether the worker had reported its end).
 */
export function messagesBefore(file: string, offset: number, bytes = 64 * 1024): unknown[] {
  const read = readRange(file, () => ({ start: offset - bytes, length: Math.min(offset, bytes) }));
  if (!read) return [];
  const lines = read.bytes.toString('utf8').split('\n');
  // The first line may be a part of one; the last is empty (offsets end after a newline).
  if (offset > bytes) lines.shift();
  return lines.flatMap((text) => {
    const line = parseLine(text, 0, 0);
    return line.ok ? [line.value] : [];
  });
}

function parseLine(text: string, line: number, end: number): EventLine {
  try {
    return { line, end, ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    const shown = text.length > 80 ? `${text.slice(0, 80)}…` : text;
    return {
      line,
      end,
      ok: false,
      problem: `line ${line} of the event file is not a message (${(err as Error).message}): ${shown}`,
    };
  }
}
