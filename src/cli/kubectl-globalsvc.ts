#!/usr/bin/env node
// The kubectl plugin: for `kubectl globalsvc status -o json`, kubectl runs the executable named
// kubectl-globalsvc it finds on PATH with the rest of the command line (`status -o json`).
import { execute, newProgram } from './program.js';
import { addStatusCommand } from './status.js';

const program = newProgram('kubectl globalsvc', 'Read-only views of globalsvc: the global Services of this cluster and their members.');
addStatusCommand(program);
execute(program);
