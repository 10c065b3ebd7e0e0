/**
 * vitest setupFiles: runs before each test file. Temp folders go to the run's own folder (see
 * global-setup.ts), and whatever the file made through the helpers is removed after its last test.
 */
import { afterAll, inject } from 'vitest';
import { cleanUp } from './gust.js';

process.env.TMPDIR = inject('tmpRoot');

// Registered before the file's own hooks, so it runs after them (vitest runs after-hooks in reverse).
afterAll(cleanUp);
