import type { HostService } from '../../core/api/host-service.js';

/**
 * Calls on a host service (given as a getter: tests create it in beforeAll): `ok` returns the
 * result of a call that must succeed, `failure` the status and error of one that must fail.
 */
export function serviceCalls(service: () => HostService) {
  return {
    async ok<T>(method: string, input: unknown): Promise<T> {
      const outcome = await service().call(method, input);
      if (!outcome.ok) throw new Error(`${method} failed: ${JSON.stringify(outcome.error)}`);
      return outcome.result as T;
    },
    async failure(method: string, input: unknown) {
      const outcome = await service().call(method, input);
      if (outcome.ok) throw new Error(`${method} unexpectedly succeeded`);
      return { status: outcome.status, ...outcome.error };
    },
  };
}
