import { Rng } from '@recur/tensor';

/**
 * A synthetic corpus with a planted relation: for each topic i, lines "a x b" where `a` comes from
 * the topic's left pool, `b` from its right pool and the middle word is `x<i>` or `y<i>` at random.
 * `x<i>` and `y<i>` share all their contexts and nothing else does, so a model that learns from
 * contexts puts each as the other's nearest neighbour.
 */
export function plantedCorpus(topics = 6, lines = 2400, seed = 7): string {
  const rng = new Rng(seed);
  const pool = 5;
  const out: string[] = [];
  for (let n = 0; n < lines; n++) {
    const t = rng.int(topics);
    const a = `l${t}_${rng.int(pool)}`;
    const b = `r${t}_${rng.int(pool)}`;
    const mid = rng.uniform() < 0.5 ? `x${t}` : `y${t}`;
    out.push(`${a} ${mid} ${b}`);
  }
  return `${out.join('\n')}\n`;
}
