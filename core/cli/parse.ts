import { InvalidArgumentError, type Command } from 'commander';
import { BACKENDS, parseBackendChoice, type BackendChoice } from '../engine/backends.js';
import { errorMessage } from '../util/errors.js';

/** Commander parser for integer options. */
export function parseIntOption(value: string): number {
  if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError('expected an integer');
  return Number.parseInt(value, 10);
}

/** Commander parser for positive integer options. */
export function parsePositiveInt(value: string): number {
  const n = parseIntOption(value);
  if (n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/** Commander collector for repeatable options. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Commander parser for --backend. */
export function parseBackendOption(value: string): BackendChoice {
  try {
    return parseBackendChoice(value);
  } catch (err) {
    throw new InvalidArgumentError(errorMessage(err));
  }
}

/** Adds --backend to a command. */
export function addBackendOption(cmd: Command): Command {
  return cmd.option(
    '--backend <name>',
    `engine: auto, ${BACKENDS.join(', ')}`,
    parseBackendOption,
    'auto',
  );
}

/** Commander parser for a fraction in [0, 1). */
export function parseFraction(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n >= 1)
    throw new InvalidArgumentError('expected a number from 0 up to (not including) 1');
  return n;
}
