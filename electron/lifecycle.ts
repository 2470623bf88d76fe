import { app } from 'electron';
import type { HostService } from '../core/api/host-service.js';

/**
 * Holds the first quit until the host service has closed (scheduler stopped, every job worker
 * killed, their runs marked), then quits for real. Later quit requests wait for the same close.
 */
export function setupQuit(service: Pick<HostService, 'close'>): void {
  let state: 'open' | 'closing' | 'closed' = 'open';
  app.on('before-quit', (event) => {
    if (state === 'closed') return;
    event.preventDefault();
    if (state === 'closing') return;
    state = 'closing';
    service
      .close()
      .catch((err: unknown) => console.error('closing the workbench failed:', err))
      .finally(() => {
        state = 'closed';
        app.quit();
      });
  });
}
