/**
 * The version of how dnc decodes a local brick: its logits processors (the copy constraint and
 * copy bias), the coverage resampling and the sampler. Brick-call caches key local calls by it,
 * so a change here that alters outputs must bump it, or an eval would serve answers decoded the
 * old way. 2: the copy constraint covers numbers. 3: it lets a brick's known terms pass.
 * 4: resampling also replaces decompositions that repeat a sub-question or refer forward, keeps
 * the most likely sound sample, and the name-order constraint exists. 5: the prompt-word bias
 * also raises the answer words a question's wording predicts (word associations). 6: a number
 * must start as a prompt number does (not only go on as one). 7: name order reads a question right
 * after a special token ("<|user|>Were Kaixpiond…") as a sentence start.
 */
export const localDecodingVersion = 7;
