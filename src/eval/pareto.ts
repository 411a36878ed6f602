/**
 * The Pareto frontier of (cost, score) points: the chains no other chain beats on both.
 * A point is dominated when another point costs no more AND scores no less, and is strictly
 * better in at least one of the two. The frontier is exactly the points that are not
 * dominated; equal points do not dominate each other, so duplicates are all kept.
 *
 * Quadratic on purpose: a report has tens of chains, and the pairwise definition is the
 * one tests can check by hand.
 */

export interface CostScorePoint {
  cost: number;
  score: number;
}

/** True when `challenger` dominates `point` (≤ cost, ≥ score, one strictly). */
export function dominates(challenger: CostScorePoint, point: CostScorePoint): boolean {
  const noWorse = challenger.cost <= point.cost && challenger.score >= point.score;
  const strictlyBetter = challenger.cost < point.cost || challenger.score > point.score;
  return noWorse && strictlyBetter;
}

function assertFinite(point: CostScorePoint, index: number): void {
  if (!Number.isFinite(point.cost) || !Number.isFinite(point.score)) {
    throw new RangeError(
      `Pareto point ${index} has a non-finite cost or score (${point.cost}, ${point.score}); every point needs finite numbers`,
    );
  }
}

/**
 * The non-dominated points, in order of increasing cost (then decreasing score, then input
 * order). The returned objects are the inputs themselves, so callers can carry labels.
 */
export function paretoFrontier<Point extends CostScorePoint>(points: readonly Point[]): Point[] {
  points.forEach(assertFinite);
  const frontier = points
    .map((point, index) => ({ point, index }))
    .filter(({ point }) => !points.some((other) => dominates(other, point)));
  frontier.sort(
    (left, right) =>
      left.point.cost - right.point.cost || right.point.score - left.point.score || left.index - right.index,
  );
  return frontier.map(({ point }) => point);
}

/** One frontier per group (e.g. per dataset), groups in order of first appearance. */
export function paretoFrontierByGroup<Point extends CostScorePoint>(
  points: readonly Point[],
  groupOf: (point: Point) => string,
): Map<string, Point[]> {
  const groups = new Map<string, Point[]>();
  for (const point of points) {
    const group = groups.get(groupOf(point)) ?? [];
    group.push(point);
    groups.set(groupOf(point), group);
  }
  return new Map([...groups].map(([name, members]) => [name, paretoFrontier(members)]));
}

export interface AveragedPoint extends CostScorePoint {
  /** The item (chain) the point averages. */
  key: string;
  /** How many groups (datasets) the average is over. */
  groups: number;
}

/**
 * Averages each item's cost and score over the groups it appears in (e.g. a chain's mean
 * cost per example and mean score across datasets), for a frontier across datasets. Only
 * items present in every group are averaged, so that every average covers the same datasets;
 * the others are left out rather than compared on an easier or harder mix.
 */
export function averageAcrossGroups<Point extends CostScorePoint>(
  points: readonly Point[],
  keyOf: (point: Point) => string,
  groupOf: (point: Point) => string,
): AveragedPoint[] {
  const groupCount = new Set(points.map(groupOf)).size;
  const byKey = new Map<string, Point[]>();
  for (const point of points) {
    const members = byKey.get(keyOf(point)) ?? [];
    members.push(point);
    byKey.set(keyOf(point), members);
  }
  const averaged: AveragedPoint[] = [];
  for (const [key, members] of byKey) {
    const groups = new Set(members.map(groupOf)).size;
    if (groups !== members.length) {
      throw new RangeError(`item "${key}" appears twice in one group; each item needs one point per group`);
    }
    if (groups < groupCount) continue;
    const sum = members.reduce(
      (total, point) => ({ cost: total.cost + point.cost, score: total.score + point.score }),
      {
        cost: 0,
        score: 0,
      },
    );
    averaged.push({ key, cost: sum.cost / groups, score: sum.score / groups, groups });
  }
  return averaged;
}
