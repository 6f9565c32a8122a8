// zod's small build, as every module here takes it (`import * as z from './zod.js'`): zod/mini is
// zod's own tree-shakable form (functions and .check() instead of methods), 2 MiB of RSS to load
// against 13 MiB for zod's classic build (docs/benchmarks.md, Memory). It loads no messages by
// itself: English is loaded here, once. Re-exported name by name, so the bundle keeps only what is used.
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());

export * from 'zod/mini';
