import { describe, expect, it } from 'vitest';
import { parseResourcePath, type Resource } from '../../core/api/contract';
import { resourceUrl } from '../../renderer/src/api/client';

// The renderer builds image URLs itself (it may import only types from core); the hosts parse
// them with the contract's parser. Both must agree on every kind.
describe('resource URLs', () => {
  const resources: Resource[] = [
    { kind: 'image', datasetId: 3, idx: 0 },
    { kind: 'image', datasetId: 12, idx: 4567 },
    { kind: 'mean', datasetId: 7 },
    { kind: 'filters', runId: 42, checkpoint: 'best' },
    { kind: 'filters', runId: 1, checkpoint: 'last' },
  ];

  it.each(resources)('round-trips %o', (resource) => {
    expect(parseResourcePath(resourceUrl(resource))).toEqual(resource);
  });

  it('adds a version the host ignores, so a changed image gets a new URL', () => {
    const filters: Resource = { kind: 'filters', runId: 42, checkpoint: 'last' };
    const a = resourceUrl(filters, '2026-11-28T10:00:00Z');
    const b = resourceUrl(filters, '2026-11-28T10:05:00Z');
    expect(a).not.toBe(b);
    const pathOf = (url: string) => new URL(url, 'http://127.0.0.1/').pathname;
    expect(parseResourcePath(pathOf(a))).toEqual(filters);
  });

  it('names nothing for paths outside the resource kinds', () => {
    for (const bad of ['res/image/1', 'res/filters/1/other', 'res/../etc/passwd', 'res/mean/0'])
      expect(parseResourcePath(bad)).toBeNull();
  });
});
