/**
 * Reverse-mode autodiff over the builder graph: one walker for every op, the per-op math lives in
 * gradient-rules.ts. `gradients` appends the backward nodes to the same graph.
 */
import { isFloating } from './data-type.js';
import { type Node, type Value } from './graph-core.js';
import { type Graph } from './graph.js';
import { gradientRules } from './gradient-rules.js';
import { formatShape } from './shape.js';

/** Names of floating values that depend on a parameter (forward reachability through floating values). */
function dependsOnParameters(graph: Graph, parameters: readonly Value[]): Set<string> {
  const reached = new Set(parameters.map((parameter) => parameter.name));
  for (const node of graph.nodes) {
    if (
      node.inputs.some((input) => input !== null && isFloating(input.dataType) && reached.has(input.name))
    ) {
      for (const output of node.outputs) if (isFloating(output.dataType)) reached.add(output.name);
    }
  }
  return reached;
}

/** Names of floating values the loss depends on (backward reachability through floating values). */
function reachesLoss(graph: Graph, loss: Value): Set<string> {
  const reached = new Set([loss.name]);
  for (let index = graph.nodes.length - 1; index >= 0; index -= 1) {
    const node = graph.nodes[index];
    if (node.outputs.some((output) => reached.has(output.name))) {
      for (const input of node.inputs)
        if (input !== null && isFloating(input.dataType)) reached.add(input.name);
    }
  }
  return reached;
}

function describe(node: Node): string {
  const inputs = node.inputs.map((input) =>
    input === null ? '∅' : `${input.name} ${formatShape(input.shape)}`,
  );
  return `${node.opType}(${inputs.join(', ')}) → ${node.outputs.map((output) => output.name).join(', ')}`;
}

/**
 * Appends to `graph` the nodes computing d loss / d parameter for each parameter and returns those
 * gradients in the same order. Only nodes on a path from a parameter to the loss are differentiated;
 * gradients of values used more than once are summed; broadcast inputs get reduced gradients. A node
 * on such a path whose op has no rule throws here, at build time, naming the op.
 */
export function gradients(graph: Graph, loss: Value, parameters: readonly Value[]): Value[] {
  if (loss.shape.length !== 0)
    throw new Error(`the loss must be a scalar, got shape ${formatShape(loss.shape)}`);
  const forward = dependsOnParameters(graph, parameters);
  const backward = reachesLoss(graph, loss);
  const onPath = (value: Value | null): boolean =>
    value !== null && isFloating(value.dataType) && forward.has(value.name) && backward.has(value.name);
  const nodes = graph.nodes.filter((node) => node.outputs.some(onPath) && node.inputs.some(onPath));
  for (const node of nodes) {
    if (gradientRules[node.opType] === undefined) {
      throw new Error(
        `no gradient rule for op '${node.opType}' (node ${describe(node)}) on the path to the loss`,
      );
    }
  }
  for (const parameter of parameters) {
    if (!onPath(parameter))
      throw new Error(`parameter '${parameter.name}' does not affect the loss '${loss.name}'`);
  }

  const pending = new Map<string, Value[]>([[loss.name, [graph.scalar(1, loss.dataType)]]]);
  const total = (value: Value): Value | null => {
    const parts = pending.get(value.name);
    if (parts === undefined) return null;
    const summed = graph.sum(parts);
    pending.set(value.name, [summed]);
    return summed;
  };

  for (let index = nodes.length - 1; index >= 0; index -= 1) {
    const node = nodes[index];
    const outputGradients = node.outputs.map(total);
    if (outputGradients.every((gradient) => gradient === null)) continue;
    const inputs = node.inputs.filter((input): input is Value => input !== null);
    const needsGradient = inputs.map(onPath);
    const inputGradients = gradientRules[node.opType]({
      graph,
      node,
      inputs,
      outputGradients,
      needsGradient,
    });
    inputs.forEach((input, position) => {
      const gradient = inputGradients[position];
      if (!needsGradient[position] || gradient === null || gradient === undefined) return;
      const parts = pending.get(input.name) ?? [];
      parts.push(gradient);
      pending.set(input.name, parts);
    });
  }
  return parameters.map((parameter) => total(parameter) as Value);
}
