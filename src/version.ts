// Version and commit are stamped in by esbuild (scripts/bundle.mjs); when running from source
// under tsx they are not defined and we fall back to the package version.
declare const __TANDEM_VERSION__: string | undefined;
declare const __TANDEM_COMMIT__: string | undefined;

export const VERSION: string = typeof __TANDEM_VERSION__ === 'string' ? __TANDEM_VERSION__ : '0.1.0-dev';
export const COMMIT: string = typeof __TANDEM_COMMIT__ === 'string' ? __TANDEM_COMMIT__ : 'source';
