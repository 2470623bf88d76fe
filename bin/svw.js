#!/usr/bin/env node
// The svw command-line tool; the code lives in dist/ (built by `npm run build`).
import { main } from '../dist/core/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
