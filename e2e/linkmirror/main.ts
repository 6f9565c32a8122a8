// service-mirror stand-in: the same command line as Linkerd's
//   service-mirror -kubeconfig=<source> -namespace=linkerd-multicluster -enable-headless-services [-metrics-addr=...] <link>
import { LinkMirror } from './mirror.js';

const flags = new Map<string, string>();
const positional: string[] = [];
for (const arg of process.argv.slice(2)) {
  const m = /^--?([^=]+)(?:=(.*))?$/.exec(arg);
  if (m) flags.set(m[1]!, m[2] ?? 'true');
  else positional.push(arg);
}
const log = (msg: string) => process.stdout.write(`${new Date().toISOString()} ${msg}\n`);
const mirror = new LinkMirror({
  sourceKubeconfig: flags.get('kubeconfig') ?? '',
  namespace: flags.get('namespace') ?? 'linkerd-multicluster',
  linkName: positional[0] ?? '',
  headless: flags.get('enable-headless-services') === 'true',
  log,
});
await mirror.start();
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void mirror.stop().then(() => process.exit(0));
  });
}
