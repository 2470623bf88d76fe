/**
 * How likely each image's label is wrong, from two independent witnesses: its k nearest train
 * neighbours in fc7 space (what share of them carry another label), and the network's own
 * softmax (its confidence in a class other than the label). The score is their mean, in [0, 1].
 */
import type { NeighbourGraph } from './knn-graph.js';

export interface LabelErrorCandidate {
  /** Row of the scored image (position in `labels`). */
  row: number;
  label: number;
  /** The class both witnesses favour over the label. */
  suggested: number;
  score: number;
  /** Share of its neighbours with another label, and 1 − softmax probability of its label. */
  neighbourDisagreement: number;
  otherConfidence: number;
  /** Gallery positions of its neighbours, nearest first. */
  neighbours: number[];
}

export interface LabelErrorInput {
  /** Neighbours of each scored row among the gallery (positions in galleryLabels). */
  graph: NeighbourGraph;
  /** Label of each scored row. */
  labels: Int32Array;
  galleryLabels: Int32Array;
  /** Softmax of each scored row [rows, classes]. */
  probs: Float32Array;
  classes: number;
}

/** Scores every row, most suspicious first (ties by row). */
export function scoreLabelErrors(input: LabelErrorInput): LabelErrorCandidate[] {
  const { graph, labels, galleryLabels, probs, classes } = input;
  const { k } = graph;
  const votes = new Float64Array(classes);
  const out: LabelErrorCandidate[] = [];
  for (let row = 0; row < labels.length; row++) {
    const label = labels[row]!;
    votes.fill(0);
    const neighbours: number[] = [];
    for (let j = 0; j < k; j++) {
      const at = graph.idx[row * k + j]!;
      if (at < 0) continue;
      neighbours.push(at);
      votes[galleryLabels[at]!]!++;
    }
    const n = neighbours.length;
    const disagreement = n ? 1 - votes[label]! / n : 0;
    const p = probs.subarray(row * classes, (row + 1) * classes);
    const otherConfidence = 1 - p[label]!;
    let suggested = label === 0 ? 1 : 0;
    let best = -Infinity;
    for (let c = 0; c < classes; c++) {
      if (c === label) continue;
      const support = (n ? votes[c]! / n : 0) + p[c]!;
      if (support > best) [best, suggested] = [support, c];
    }
    out.push({
      row,
      label,
      suggested,
      score: (disagreement + otherConfidence) / 2,
      neighbourDisagreement: disagreement,
      otherConfidence,
      neighbours,
    });
  }
  return out.sort((a, b) => b.score - a.score || a.row - b.row);
}

/** Softmax of each row of logits [rows, classes], in place, stable against overflow. */
export function softmaxRows(logits: Float32Array, classes: number): Float32Array {
  for (let o = 0; o < logits.length; o += classes) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[o + c]!);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += logits[o + c] = Math.exp(logits[o + c]! - max);
    for (let c = 0; c < classes; c++) logits[o + c]! /= sum;
  }
  return logits;
}
