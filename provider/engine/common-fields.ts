import type { PersistMode } from "../persist/mode";

/** Inputs every kind shares, after parsing. */
export interface CommonFields {
  name: string;
  netns?: string;
  mtu?: number;
  up: boolean;
  macAddress?: string;
  addresses?: string[];
  master?: string;
  alias?: string;
  persist?: PersistMode;
}
