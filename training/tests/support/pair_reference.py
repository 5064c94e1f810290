# Usage (from the data directory): python3 pair_reference.py HOUR COIN EXCHANGE:QUOTE,EXCHANGE:QUOTE,...
# HOUR is hours since the Unix epoch; prints every venue pair's opportunity statistics at that hour.
# Independent reference for the replay's opportunity features at one hour, from the raw rows.
import gzip, csv, math, sys
H = 3600000
h = int(sys.argv[1]); coin = sys.argv[2]; venues = sys.argv[3].split(',')  # exchange:quote
want = {tuple(v.split(':')) for v in venues}
sett = {v: [] for v in want}; bars = {v: {} for v in want}
with gzip.open('funding.csv.gz', 'rt') as f:
    for x in csv.DictReader(f):
        k = (x['exchange'], x['quote'])
        if x['symbol'] == coin and k in want and int(x['ts_ms']) <= h * H:
            sett[k].append((int(x['ts_ms']), float(x['funding_rate']), float(x['interval_hours'])))
with gzip.open('prices_1h.csv.gz', 'rt') as f:
    for x in csv.DictReader(f):
        k = (x['exchange'], x['quote'])
        if x['symbol'] == coin and k in want and (h - 100) * H <= int(x['ts_ms']) <= h * H:
            bars[k][int(x['ts_ms']) // H] = (float(x['open']), float(x['close']), float(x['volume_quote'] or 0))
def quote(v, x):
    b = bars[v]
    price = b[x][0] if x in b else (b[x - 1][1] if x - 1 in b else None)
    known = [s for s in sett[v] if (s[0] + H - 1) // H <= x]
    if price is None or not known: return None
    ts, rate, iv = known[-1]
    return price, rate, iv, (x * H - ts) / H <= 2 * iv
vs = sorted(want)
for i in range(len(vs)):
    for j in range(i + 1, len(vs)):
        a, b = vs[i], vs[j]
        samples = []
        for x in range(h - 71, h + 1):
            qa, qb = quote(a, x), quote(b, x)
            if qa and qb and qa[3] and qb[3]:
                diff = (qb[1] / qb[2] - qa[1] / qa[2]) * 8
                spread = abs(qa[0] - qb[0]) / ((qa[0] + qb[0]) / 2) * 100
                samples.append((x, diff, spread))
        last = samples[-1]
        assert last[0] == h
        sign = 1 if last[1] >= 0 else -1
        d24 = [s[1] for s in samples if s[0] > h - 24]
        s24 = [s[2] for s in samples if s[0] > h - 24]
        s72 = [s[2] for s in samples]
        m72 = sum(s72) / len(s72)
        vol = min(sum(bars[v].get(x, (0, 0, 0))[2] for x in range(h - 24, h)) for v in (a, b))
        long, short = (a, b) if sign > 0 else (b, a)
        print(f"{a[0]}/{b[0]}: long {long[0]} short {short[0]} n72={len(samples)} "
              f"profit_8h={abs(last[1])!r} avg24={sign * sum(d24) / len(d24)!r} "
              f"avg72={sign * sum(s[1] for s in samples) / len(samples)!r} "
              f"spread30={sum(s[2] for s in samples[-30:]) / len(samples[-30:])!r} "
              f"spread24={sum(s24) / len(s24)!r} spread72={m72!r} "
              f"std={math.sqrt(sum((s - m72) ** 2 for s in s72) / len(s72))!r} volume={vol!r}")
