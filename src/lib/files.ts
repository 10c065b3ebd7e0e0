/** files: what a path is, without throwing. */
import { stat } from 'node:fs/promises';

export type PathKind = 'file' | 'directory' | 'other' | 'missing';

export async function pathKind(p: string): Promise<PathKind> {
  try {
    const s = await stat(p);
    return s.isFile() ? 'file' : s.isDirectory() ? 'directory' : 'other';
  } catch {
    return 'missing';
  }
}

export const isFile = async (p: string): Promise<boolean> => (await pathKind(p)) === 'file';
export const isDirectory = async (p: string): Promise<boolean> => (await pathKind(p)) === 'directory';
export const exists = async (p: string): Promise<boolean> => (await pathKind(p)) !== 'missing';
