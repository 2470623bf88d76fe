import { describe, expect, it } from 'vitest';
import { findElectronBinary } from '../../electron/launch.js';
import { isSafeExternalUrl } from '../../electron/security.js';

describe('findElectronBinary', () => {
  it('returns the binary path the electron package exports when the file exists', () => {
    expect(
      findElectronBinary(
        () => '/opt/electron/electron',
        (p) => p === '/opt/electron/electron',
      ),
    ).toBe('/opt/electron/electron');
  });

  it('is null when the package is missing, its binary was never downloaded, or the file is gone', () => {
    const missing = () => {
      throw Object.assign(new Error("Cannot find module 'electron'"), { code: 'MODULE_NOT_FOUND' });
    };
    const notDownloaded = () => {
      throw new Error(
        'Electron failed to install correctly, please delete node_modules/electron and try installing again',
      );
    };
    expect(findElectronBinary(missing)).toBeNull();
    expect(findElectronBinary(notDownloaded)).toBeNull();
    expect(
      findElectronBinary(
        () => '/gone/electron',
        () => false,
      ),
    ).toBeNull();
  });
});

describe('isSafeExternalUrl', () => {
  it('lets only http and https links out', () => {
    expect(isSafeExternalUrl('https://example.org/paper.pdf')).toBe(true);
    expect(isSafeExternalUrl('http://localhost:8080')).toBe(true);
    for (const url of [
      'file:///etc/passwd',
      'javascript:alert(1)',
      'smb://host/share',
      'not a url',
    ]) {
      expect(isSafeExternalUrl(url)).toBe(false);
    }
  });
});
