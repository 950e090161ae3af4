// Where each field of a model object was set: the directive's keyword position, so validation
// can point at the line that set a value, and the build can tell "set" from "left at its
// default" (keepalived derives some defaults from other values when a keyword is absent).
import type { Pos } from './model.ts';

const fieldPositions = new WeakMap<object, Map<string, Pos>>();

/** Where `field` of a model object built from text was set, if it was. */
export function fieldPos(obj: object, field: string): Pos | undefined {
  return fieldPositions.get(obj)?.get(field);
}

export function mark(obj: object, field: string, pos: Pos): void {
  let m = fieldPositions.get(obj);
  if (!m) { m = new Map(); fieldPositions.set(obj, m); }
  m.set(field, pos);
}
