// What globalsvc's bundles get for `import ... from 'undici'`, wherever it is imported (their own
// code, client-node's config.js): undici's own modules for the names they use, exported as undici's
// index exports them. undici is CommonJS, so a bundle that imports its index runs all of it at start:
// fetch, WebSocket, EventSource, the cache stores and the mocks, about 10 MiB of RSS (docs/benchmarks.md,
// Memory) in a process that sends its requests through an Agent. A name not exported here fails the
// build; hack/bundle.mjs fails it too if undici's index comes back.
import Agent from 'undici/lib/dispatcher/agent.js';
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';
import ProxyAgent from 'undici/lib/dispatcher/proxy-agent.js';
import api from 'undici/lib/api/index.js';
import globalDispatcher from 'undici/lib/global.js';

// As undici's index does before anything else: request() and the rest of its API on every dispatcher.
Object.assign(Dispatcher.prototype, api);

export { Agent, ProxyAgent };
export const { getGlobalDispatcher } = globalDispatcher;

// fetch, which modules of client-node's that globalsvc does not use import (its Watch, health, log,
// metrics, the generated API's HTTP layer): undici's own, bundled, but run only when first called.
// eslint-disable-next-line no-undef, @typescript-eslint/no-require-imports
export const fetch = (...args) => require('undici/lib/web/fetch/index.js').fetch(...args);
