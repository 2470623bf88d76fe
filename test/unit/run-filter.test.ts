import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilterSyntaxError, parseFilter, type FilterNode } from '../../core/filter/parse.js';
import { openDatabase, type Db } from '../../core/store/db.js';
import { compileFilter, filterSql } from '../../core/store/run-filter.js';

const FROM =
  'FROM runs r JOIN experiments e ON e.id = r.experiment_id LEFT JOIN datasets d ON d.id = r.dataset_id';

/** The run ids a filter selects, in id order. */
function ids(db: Db, filter: string): number[] {
  const { where, params } = filterSql(filter);
  const rows = db.prepare(`SELECT r.id ${FROM} WHERE ${where} ORDER BY r.id`).all(...params);
  return rows.map((row) => (row as { id: number }).id);
}

/** The FilterSyntaxError a filter throws. */
function syntaxError(text: string): FilterSyntaxError {
  try {
    parseFilter(text);
  } catch (err) {
    if (err instanceof FilterSyntaxError) return err;
    throw err;
  }
  throw new Error(`expected ${text} to be rejected`);
}

const cmp = (name: string, op: string, value: string | number | null, scope = 'run') => ({
  kind: 'compare',
  field: { scope, name },
  op,
  value,
});

describe('parseFilter', () => {
  it('treats blank text as no filter', () => {
    expect(parseFilter('')).toBeNull();
    expect(parseFilter('  \t ')).toBeNull();
    expect(compileFilter(null)).toEqual({ where: '1', params: [] });
  });

  it('binds NOT tighter than AND and AND tighter than OR, left to right', () => {
    expect(parseFilter('id = 1 or seed = 2 and name = x')).toEqual({
      kind: 'or',
      left: cmp('id', '=', 1),
      right: { kind: 'and', left: cmp('seed', '=', 2), right: cmp('name', '=', 'x') },
    });
    expect(parseFilter('id = 1 and id = 2 and id = 3')).toEqual({
      kind: 'and',
      left: { kind: 'and', left: cmp('id', '=', 1), right: cmp('id', '=', 2) },
      right: cmp('id', '=', 3),
    });
    expect(parseFilter('not id = 1 and seed = 2')).toEqual({
      kind: 'and',
      left: { kind: 'not', operand: cmp('id', '=', 1) },
      right: cmp('seed', '=', 2),
    });
  });

  it('lets parentheses override precedence', () => {
    expect(parseFilter('(id = 1 or seed = 2) and not (name = x)')).toEqual({
      kind: 'and',
      left: { kind: 'or', left: cmp('id', '=', 1), right: cmp('seed', '=', 2) },
      right: { kind: 'not', operand: cmp('name', '=', 'x') },
    });
    expect(parseFilter('((((id=1))))')).toEqual(cmp('id', '=', 1));
  });

  it('reads keywords and field names in any case', () => {
    expect(parseFilter('STATUS = done AND Seed > 1 Or NOT name LIKE a% oR id IS NOT NULL')).toEqual(
      parseFilter('status = done and seed > 1 or not name like a% or id is not null'),
    );
    // Keywords are whole words: 'android' is not 'and' followed by 'roid'.
    expect(syntaxError('seed = 1 or android = 1').reason).toContain("unknown field 'android'");
  });

  it('parses every operator', () => {
    const op = (text: string) => parseFilter(`seed ${text}`) as { op: string; value: unknown };
    expect(op('= 1')).toMatchObject({ op: '=', value: 1 });
    expect(op('== 1')).toMatchObject({ op: '=', value: 1 });
    expect(op('!= 1')).toMatchObject({ op: '!=', value: 1 });
    expect(op('<> 1')).toMatchObject({ op: '!=', value: 1 });
    expect(op('< 1')).toMatchObject({ op: '<', value: 1 });
    expect(op('<= 1')).toMatchObject({ op: '<=', value: 1 });
    expect(op('> 1')).toMatchObject({ op: '>', value: 1 });
    expect(op('>= 1')).toMatchObject({ op: '>=', value: 1 });
    expect(op('like 1%')).toMatchObject({ op: 'like', value: '1%' });
    expect(op('not like "1%"')).toMatchObject({ op: 'not like', value: '1%' });
    expect(op('is null')).toMatchObject({ op: '=', value: null });
    expect(op('is not null')).toMatchObject({ op: '!=', value: null });
    expect(op('= NULL')).toMatchObject({ op: '=', value: null });
    expect(parseFilter('seed>=-1')).toEqual(cmp('seed', '>=', -1));
  });

  it('reads numbers, strings and bare words', () => {
    const value = (text: string) => (parseFilter(`name = ${text}`) as { value: unknown }).value;
    expect(value('1e-3')).toBe(0.001);
    expect(value('-2.5')).toBe(-2.5);
    expect(value('.5')).toBe(0.5);
    expect(value('1E+2')).toBe(100);
    expect(value('3.')).toBe(3);
    expect(value('1.2.3')).toBe('1.2.3');
    expect(value('0x10')).toBe('0x10');
    expect(value('2024-03-01T10:00Z')).toBe('2024-03-01T10:00Z');
    expect(value('"1e-3"')).toBe('1e-3');
    expect(value(`'it\\'s "x"'`)).toBe(`it's "x"`);
    expect(value(`"a\\\\b\\n\\t\\"c"`)).toBe('a\\b\n\t"c');
    expect(value('""')).toBe('');
    // A LIKE pattern keeps the text as typed rather than what the number would print as.
    expect((parseFilter('name like 1e-3') as { value: unknown }).value).toBe('1e-3');
  });

  it('reads params, metrics and tags fields', () => {
    const field = (text: string) => (parseFilter(`${text} = 1`) as { field: unknown }).field;
    expect(field('params.optim.lr')).toEqual({ scope: 'params', name: 'optim.lr' });
    expect(field('PARAMS.model.lrn.mode')).toEqual({ scope: 'params', name: 'model.lrn.mode' });
    expect(field('params."optim.lr"')).toEqual({ scope: 'params', name: 'optim.lr' });
    expect(field(`params.a."b c".'d'`)).toEqual({ scope: 'params', name: 'a.b c.d' });
    expect(field('metrics.val_top1_error')).toEqual({ scope: 'metrics', name: 'val_top1_error' });
    expect(field('metrics.train_loss.min')).toEqual({
      scope: 'metrics',
      name: 'train_loss',
      stat: 'min',
    });
    expect(field('metrics."a.b".MAX')).toEqual({ scope: 'metrics', name: 'a.b', stat: 'max' });
    expect(field('tags."my key"')).toEqual({ scope: 'tags', name: 'my key' });
    expect(field('tags.x-y/z')).toEqual({ scope: 'tags', name: 'x-y/z' });
    expect(field('Epochs_Done')).toEqual({ scope: 'run', name: 'epochs_done' });
  });

  it.each([
    ['params.lr > and metrics.x < 1', "expected a value after '>'", 12, 3],
    ['foo = 1', "unknown field 'foo' (did you mean params.foo, metrics.foo or tags.foo?", 0, 3],
    ['stat = done', "unknown field 'stat' (did you mean status or params.stat, metrics", 0, 4],
    ['param.lr = 1', "unknown field prefix 'param.'", 0, 6],
    ['params = 1', "unknown field 'params' (did you mean params.<key>?", 0, 6],
    ['name = "abc', 'unterminated string', 7, 4],
    ["name = 'abc\\", 'unterminated string', 7, 5],
    ['name = "a\\qb"', "unknown escape '\\q'", 9, 2],
    ['(id = 1 or id = 2', "expected ')' to close the '(' from column 1, found the end", 17, 1],
    ['id = 1)', "unexpected ')' without a matching '('", 6, 1],
    ['id = 1 seed = 2', "expected 'and', 'or' or the end of the filter, found 'seed'", 7, 4],
    ['id = 1 and', "expected a field name after 'and', found the end of the filter", 10, 1],
    ['id = 1 and or seed = 1', "expected a field name after 'and', found 'or'", 11, 2],
    ['()', "expected a field name after '(', found ')'", 1, 1],
    ['name ~ x', "expected an operator after 'name', found '~'", 5, 1],
    ['seed is nul', "expected 'null' after 'is', found 'nul'", 8, 3],
    ['name not = x', "expected 'like' after 'not', found '='", 9, 1],
    ['seed < null', "null can only follow = or != (or use 'is null'), not '<'", 7, 4],
    ['metrics.loss > abc', "expected a number after '>', found 'abc'", 15, 3],
    ['metrics.loss like 1%', 'metrics are numbers and cannot be matched with like', 13, 4],
    ['metrics.loss.best < 1', "expected 'min' or 'max' after 'metrics.loss.'", 13, 4],
    ['params. = 1', "expected a key after 'params.'", 7, 1],
    ['seed = 1e999', 'number 1e999 is out of range', 7, 5],
  ])('rejects %j', (text, reason, position, length) => {
    const err = syntaxError(text);
    expect(err.reason).toContain(reason);
    expect({ position: err.position, length: err.length }).toEqual({ position, length });
    // The caret line sits under the bad token of the excerpt on the line above.
    const [line, carets] = err.message.split('\n') as [string, string];
    const excerptStart = line.indexOf(': ', line.indexOf(' at column ')) + 2;
    expect(carets.indexOf('^')).toBe(excerptStart + position);
    expect(carets.trim()).toBe('^'.repeat(length));
  });

  it('formats the message with the column, the text and a caret line', () => {
    const head = "expected a value after '>', found 'and' at column 13: ";
    expect(syntaxError('params.lr > and metrics.x < 1').message).toBe(
      `${head}params.lr > and metrics.x < 1\n${' '.repeat(head.length + 12)}^^^`,
    );
    // Long filters are shown as a window around the mistake.
    const long = `${'seed = 1 and '.repeat(10)}seed ~ 1 and ${'seed = 1 and '.repeat(10)}seed = 1`;
    const [line, carets] = syntaxError(long).message.split('\n') as [string, string];
    expect(line).toMatch(new RegExp(`column ${long.indexOf('~') + 1}: \\.\\.\\..*\\.\\.\\.$`));
    expect(line.length).toBeLessThan(200);
    expect(line[carets.indexOf('^')]).toBe('~');
  });
});

describe('compileFilter on a real database', () => {
  let db: Db;
  beforeAll(() => {
    db = openDatabase(':memory:');
    db.exec(`
      INSERT INTO datasets (id, name, source_path, layout, image_size, class_count, train_count,
        val_count, skipped_count, seed, fingerprint, created_at)
      VALUES (1, 'cifar10', '/data/cifar', 'cifar10-binary', 32, 10, 50000, 10000, 0, 1, 'f', 't');
      INSERT INTO experiments (id, name, created_at) VALUES (1, 'baseline', 't'), (2, 'lrn-ablation', 't');
      INSERT INTO runs (id, experiment_id, name, dataset_id, preset, status, created_at, started_at,
        ended_at, backend, seed, config_hash, config, epochs_done, epochs_total) VALUES
        (1, 1, 'alexnet-sgd', 1, 'alexnet', 'completed', '2024-03-01T10:00Z', '2024-03-01T10:01Z',
          '2024-03-01T18:00Z', 'tfjs-node', 1, 'h', '{}', 90, 90),
        (2, 1, 'alexnet-fast', 1, 'alexnet', 'failed', '2024-03-02T10:00Z', '2024-03-02T10:01Z',
          '2024-03-02T11:00Z', 'wasm', 2, 'h', '{}', 3, 90),
        (3, 2, 'lrn-off', NULL, 'alexnet-small', 'running', '2024-03-03T10:00Z',
          '2024-03-03T10:01Z', NULL, 'cpu', 3, 'h', '{}', 10, 30),
        (4, 2, 'lrn-within', 1, 'alexnet-small', 'queued', '2024-03-04T10:00Z', NULL, NULL, NULL,
          4, 'h', '{}', 0, 30),
        (5, 2, 'it''s "x"', 1, 'alexnet-small', 'completed', '2024-03-05T10:00Z',
          '2024-03-05T10:01Z', '2024-03-05T12:00Z', 'wasm', 5, 'h', '{}', 30, 30);
      INSERT INTO params (run_id, key, value, num) VALUES
        (1, 'optim.lr', '0.01', 0.01), (1, 'optim.name', 'sgd', NULL),
        (1, 'model.lrn.mode', 'across', NULL), (1, 'data.batch_size', '128', 128),
        (2, 'optim.lr', '0.1', 0.1), (2, 'optim.name', 'sgd', NULL),
        (2, 'model.lrn.mode', 'across', NULL), (2, 'data.batch_size', '256', 256),
        (3, 'optim.lr', '0.001', 0.001), (3, 'optim.name', 'adam', NULL),
        (3, 'model.lrn.mode', 'off', NULL), (3, 'data.batch_size', '128', 128),
        (4, 'optim.lr', '0.0005', 0.0005), (4, 'optim.name', 'AdamW', NULL),
        (4, 'model.lrn.mode', 'within', NULL),
        (5, 'optim.name', 'sgd', NULL), (5, 'model.lrn.mode', 'across', NULL),
        (5, 'data.batch_size', '64', 64);
      INSERT INTO latest_metrics (run_id, key, value, step, epoch, min_value, max_value) VALUES
        (1, 'val_top1_error', 0.42, 900, 90, 0.40, 0.99), (1, 'train_loss', 1.1, 900, 90, 1.0, 6.9),
        (2, 'val_top1_error', 0.9, 30, 3, 0.85, 0.99), (2, 'train_loss', 4.5, 30, 3, 4.5, 6.9),
        (3, 'val_top1_error', 0.6, 100, 10, 0.45, 0.99), (3, 'train_loss', 2.0, 100, 10, 2.0, 6.9),
        (5, 'val_top1_error', 0.3, 300, 30, 0.28, 0.95), (5, 'train_loss', 0.9, 300, 30, 0.9, 6.9);
      INSERT INTO tags (run_id, key, value) VALUES
        (1, 'x', 'y'), (1, 'note', 'best so far'), (2, 'x', 'z'), (2, 'priority', '10'),
        (3, 'priority', '3'), (3, 'my key', 'has space'), (4, 'x', 'y'), (5, 'priority', 'abc');
      UPDATE runs SET cluster = 'hpc', node = 'gpu07' WHERE id IN (2, 3);
      UPDATE runs SET node = 'workstation' WHERE id = 1;
    `);
  });
  afterAll(() => db.close());

  it.each([
    ['', [1, 2, 3, 4, 5]],
    ['params.optim.lr > 0.001 and metrics.val_top1_error < 0.5 or tags.x = "y"', [1, 4]],
    ['params.optim.lr > 0.001 and (metrics.val_top1_error < 0.5 or tags.x = "y")', [1]],
    ['status = completed', [1, 5]],
    ["STATUS = 'completed' AND experiment = baseline", [1]],
    ['not status = completed and seed > 1', [2, 3, 4]],
    ['not (status = completed and seed > 1)', [1, 2, 3, 4]],
    ['dataset = cifar10', [1, 2, 4, 5]],
    ['dataset != cifar10', []],
    ['not dataset = cifar10', [3]],
    ['dataset is null', [3]],
    ['started_at is null or backend is null', [4]],
    ['ended_at < "2024-03-03"', [1, 2]],
    ['not ended_at < "2024-03-03"', [3, 4, 5]],
    ['created_at >= 2024-03-03', [3, 4, 5]],
    ['backend = wasm or backend = cpu', [2, 3, 5]],
    ['seed >= 4', [4, 5]],
    ['epochs_done < 10 and id != 4', [2]],
    ['preset like "%small"', [3, 4, 5]],
    ['name like "LRN-%"', [3, 4]],
    ['name not like "lrn-%"', [1, 2, 5]],
    [`name = "it's \\"x\\""`, [5]],
    ['params.model.lrn.mode = across', [1, 2, 5]],
    ['params.optim.name like "ADA%"', [3, 4]],
    ['params.optim.name not like "ada%"', [1, 2, 5]],
    ['params.optim.name = adamw', []],
    ['params.optim.lr = 0.001', [3]],
    ['params.optim.lr = 1e-3', [3]],
    ['params.optim.lr = "1e-3"', []],
    ['params.data.batch_size = "128"', [1, 3]],
    ['params.data.batch_size != 128', [2, 5]],
    ['not params.data.batch_size = 128', [2, 4, 5]],
    ['params.data.batch_size is null', [4]],
    ['params.optim.lr is not null', [1, 2, 3, 4]],
    ['params.optim.name > 1', []],
    ['params.nope = 1 or params.nope != 1 or params.nope like "%"', []],
    ['metrics.val_top1_error.min < 0.41', [1, 5]],
    ['metrics.val_top1_error.max >= 0.99', [1, 2, 3]],
    ['metrics.train_loss is null', [4]],
    ['metrics.nope >= 0', []],
    ['tags.priority > 5', [2]],
    ['tags.priority >= 3', [2, 3]],
    ['tags.priority = abc or tags.priority = "10"', [2, 5]],
    ['tags."my key" = \'has space\'', [3]],
    ['tags.note like "%BEST%"', [1]],
    ['tags.x != y', [2]],
    ['cluster = hpc', [2, 3]],
    ['cluster is null', [1, 4, 5]],
    ['node = workstation or node like "gpu%"', [1, 2, 3]],
  ])('%j selects %j', (filter, expected) => {
    expect(ids(db, filter)).toEqual(expected);
  });

  it('binds user text, so SQL in a value or key matches nothing and runs nothing', () => {
    const attacks = [
      `name = "x' OR '1'='1"`,
      `name = 'x" OR 1=1 --'`,
      `params.optim.name = "sgd'; DROP TABLE runs; --"`,
      `tags."x' OR 1=1 --" = y`,
      `params.optim.name like "%' OR '1'='1"`,
    ];
    for (const attack of attacks) {
      const { where, params } = filterSql(attack);
      expect(where).not.toMatch(/OR|DROP/);
      expect(params.length).toBeGreaterThan(0);
      expect(ids(db, attack)).toEqual([]);
    }
    expect(db.prepare('SELECT count(*) AS n FROM runs').get()).toEqual({ n: 5 });
  });

  it('compiles trees built by hand', () => {
    const node: FilterNode = {
      kind: 'not',
      operand: { kind: 'compare', field: { scope: 'tags', name: 'x' }, op: '=', value: null },
    };
    expect(compileFilter(node).params).toEqual(['x']);
    const { where, params } = compileFilter(node);
    expect(db.prepare(`SELECT r.id ${FROM} WHERE ${where}`).all(...params)).toHaveLength(3);
    const bad: FilterNode = {
      kind: 'compare',
      field: { scope: 'run', name: 'x' },
      op: '=',
      value: 1,
    };
    expect(() => compileFilter(bad)).toThrow("unknown run field 'x'");
  });

  it('rethrows syntax errors unchanged from filterSql', () => {
    expect(() => filterSql('seed >')).toThrow(FilterSyntaxError);
  });
});

describe('filtering 10,000 runs', () => {
  it('returns the same runs as the same test done in JavaScript', () => {
    const db = openDatabase(':memory:');
    const lrs = [0.1, 0.01, 0.001, 0.0001];
    const expected: number[] = [];
    const insertStart = performance.now();
    db.transaction(() => {
      db.prepare("INSERT INTO experiments (id, name, created_at) VALUES (1, 'big', 't')").run();
      const run = db.prepare(
        `INSERT INTO runs (id, experiment_id, name, preset, status, created_at, seed, config_hash,
          config, epochs_total) VALUES (?, 1, ?, 'alexnet', 'completed', 't', ?, 'h', '{}', 90)`,
      );
      const param = db.prepare('INSERT INTO params (run_id, key, value, num) VALUES (?, ?, ?, ?)');
      const metric = db.prepare(
        `INSERT INTO latest_metrics (run_id, key, value, step, epoch, min_value, max_value)
          VALUES (?, ?, ?, 1, 1, ?, ?)`,
      );
      const tag = db.prepare('INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?)');
      for (let id = 1; id <= 10_000; id++) {
        run.run(id, `run-${id}`, id);
        const lr = lrs[id % 4]!;
        param.run(id, 'optim.lr', String(lr), lr);
        for (let k = 1; k < 10; k++)
          param.run(id, `model.conv${k}.filters`, String(k * id), k * id);
        const val = (id % 100) / 100;
        metric.run(id, 'val_top1_error', val, val - 0.01, val + 0.01);
        for (let k = 1; k < 5; k++) metric.run(id, `metric_${k}`, k, k, k);
        const x = id % 7 === 0 ? 'y' : 'n';
        tag.run(id, 'x', x);
        if ((lr > 0.001 && val < 0.5) || x === 'y') expected.push(id);
      }
    })();
    const insertMs = performance.now() - insertStart;
    const queryStart = performance.now();
    const got = ids(db, 'params.optim.lr > 0.001 and metrics.val_top1_error < 0.5 or tags.x = "y"');
    const queryMs = performance.now() - queryStart;
    console.log(
      `10,000 runs: insert ${insertMs.toFixed(0)} ms, filter ${queryMs.toFixed(1)} ms, ${got.length} runs`,
    );
    expect(got).toEqual(expected);
    db.close();
  });
});
