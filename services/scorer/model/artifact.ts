/**
 * Where a model announcement's artifact lives: a folder (relative to the repository root, or file://) or an
 * http(s) URL of a folder holding BUNDLE_FILES, downloaded into a local cache.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServiceError } from '../../shared/errors.ts';

/** The files of a model bundle the scorer reads (trees.json and golden.json: the explanations and their check). */
export const BUNDLE_FILES = ['model.onnx', 'metadata.json', 'trees.json', 'golden.json'] as const;

export type ArtifactLocation = { readonly kind: 'dir'; readonly path: string } | { readonly kind: 'http'; readonly url: string };

/** Pure: classifies an artifact URI. */
export function parseArtifactUri(uri: string, root: string): ArtifactLocation {
  if (/^https?:\/\//.test(uri)) return { kind: 'http', url: uri.replace(/\/+$/, '') };
  if (uri.startsWith('file://')) return { kind: 'dir', path: fileURLToPath(uri) };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) throw new ServiceError('MODEL_INVALID', `unsupported artifact URI scheme in "${uri}" (use a path, file:// or http(s)://)`, false, { uri });
  return { kind: 'dir', path: isAbsolute(uri) ? uri : resolve(root, uri) };
}

/** Returns a local folder with the bundle's files for `uri`. */
export async function fetchArtifact(uri: string, root: string, cacheDir: string, key: string): Promise<string> {
  const loc = parseArtifactUri(uri, root);
  if (loc.kind === 'dir') return loc.path;
  const dir = join(cacheDir, key.replace(/[^A-Za-z0-9._-]/g, '_'));
  await mkdir(dir, { recursive: true });
  for (const file of BUNDLE_FILES) {
    let res: Response;
    try {
      res = await fetch(`${loc.url}/${file}`, { signal: AbortSignal.timeout(60_000) });
    } catch (e) {
      throw new ServiceError('MODEL_LOAD_FAILED', `cannot download ${loc.url}/${file}: ${(e as Error).message}`, true, { uri }, { cause: e });
    }
    if (!res.ok) throw new ServiceError('MODEL_LOAD_FAILED', `download of ${loc.url}/${file} answered ${res.status}`, res.status >= 500, { uri });
    await writeFile(join(dir, file), Buffer.from(await res.arrayBuffer()));
  }
  return dir;
}
