"""The table of bench/speculative_trained.sh: acceptance by draft position (weighted by each
run's steps), tokens per step and decode t/s per configuration, against --no-spec."""
import re, sys, collections
rows = [l.rstrip('\n').split('\t') for l in open(sys.argv[1])]
agg = collections.OrderedDict()
for rnd, cfg, kind, line in rows:
    m = re.search(r'generation: (\d+) tokens, ([\d.]+) tok/s', line)
    n, tps = int(m.group(1)), float(m.group(2))
    a = agg.setdefault(cfg, dict(tok=0, sec=0.0, P=0, A=0, steps=0, pos=None, n=0))
    a['tok'] += n; a['sec'] += n / tps if tps else 0; a['n'] += 1
    d = re.search(r'drafts: (\d+) proposed, (\d+) accepted \(([\d.]+) %(?:; by position ([\d % ]+))?\), ([\d.]+) tokens/step', line)
    if d:
        P, A = int(d.group(1)), int(d.group(2))
        k = int(re.search(r'--draft (\d+)', cfg).group(1))
        steps = P / k
        pos = [float(x) for x in re.findall(r'([\d.]+) %', d.group(4))] if d.group(4) else [100.0 * A / P if P else 0]
        a['P'] += P; a['A'] += A; a['steps'] += steps
        if a['pos'] is None: a['pos'] = [0.0] * len(pos)
        for j, p in enumerate(pos): a['pos'][j] += p / 100 * steps
base = agg['--no-spec']['tok'] / agg['--no-spec']['sec']
print('| k | draft vocabulary | acceptance by position | overall | tokens/step | decode t/s | vs --no-spec |')
print('|---:|---|---|---:|---:|---:|---:|')
for cfg, a in agg.items():
    tps = a['tok'] / a['sec']
    if cfg == '--no-spec':
        print(f"| 0 (--no-spec) | — | — | — | 1.00 | {tps:.0f} | 1.00× |"); continue
    k = re.search(r'--draft (\d+)', cfg).group(1)
    voc = '512 ids' if 'vocab' in cfg else 'full (2,048)'
    pos = ' / '.join(f"{100*x/a['steps']:.0f} %" for x in a['pos'])
    print(f"| {k} | {voc} | {pos} | {100*a['A']/a['P']:.1f} % | {(a['A']+a['steps'])/a['steps']:.2f} | {tps:.0f} | {tps/base:.2f}× |")
print('runs per config:', agg['--no-spec']['n'], 'tokens per config:', agg['--no-spec']['tok'])
