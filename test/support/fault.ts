/**
 * Holds a fault for its full length, checking `invariant` every `intervalMs` meanwhile: the length
 * is what the scenario is about (three minutes of database outage, say), and what must stay true
 * during it is asserted the whole time rather than hoped for at the end. `invariant` throws (an
 * `expect` failing) to end the test at the first violation.
 */
export async function holdFault(
  lengthMs: number,
  invariant: () => Promise<void> | void,
  intervalMs = 2000,
): Promise<void> {
  const end = Date.now() + lengthMs;
  for (;;) {
    await invariant();
    const left = end - Date.now();
    if (left <= 0) return;
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, left)));
  }
}
