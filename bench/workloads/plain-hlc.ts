/**
 * The baseline's clock: the same arithmetic as the core's `hlcTick` / `hlcReceive`
 * (`wallMs * 1000 + counter`, Kulkarni et al. Figure 5) with no argument checks and no drift
 * check: the ceiling for W5 and the baseline's clock in W1/W2.
 */
export function plainTick(last: number, physicalMs: number): number {
  const c = last % 1000;
  const l = (last - c) / 1000;
  if (physicalMs > l) return physicalMs * 1000;
  return c === 999 ? (l + 1) * 1000 : last + 1;
}

export function plainReceive(last: number, remote: number, physicalMs: number): number {
  const cm = remote % 1000;
  const lm = (remote - cm) / 1000;
  const c = last % 1000;
  const l = (last - c) / 1000;
  const l2 = Math.max(l, lm, physicalMs);
  let c2: number;
  if (l2 === l && l2 === lm) c2 = Math.max(c, cm) + 1;
  else if (l2 === l) c2 = c + 1;
  else if (l2 === lm) c2 = cm + 1;
  else c2 = 0;
  return c2 > 999 ? (l2 + 1) * 1000 : l2 * 1000 + c2;
}
