import { useCallback, useEffect, useState } from "react";

/** A list read from the API, and `change`: runs an action (create, save, delete…), then reads the list again and
 * calls `onChange`, or keeps the server's refusal in `error`. `read` must not change between renders (a
 * module-level function of api.ts). */
export function useEditableList<T>(read: () => Promise<T[]>, onChange?: () => void) {
  const [list, setList] = useState<T[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(() => {
    read().then(setList, (e: Error) => setError(e.message));
  }, [read]);
  useEffect(load, [load]);

  async function change(action: () => Promise<unknown>) {
    try {
      await action();
      setError(null);
      load();
      onChange?.();
    } catch (e) {
      setError((e as Error).message);
    }
  }

  return { list, error, change };
}
