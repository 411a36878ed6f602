/**
 * What a cancelled brick call rejects with: the signal's own reason when it is an Error (a
 * deadline's or a disconnect's), else one plain "the request was cancelled" error.
 */
export function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : cancelledError();
}

/** The reason a call is aborted with when nothing more specific is known (a worker's shared flag). */
export function cancelledError(): Error {
  return new Error('the request was cancelled');
}
