import type { BrowserContext, LaunchOptions } from 'playwright-core';

export declare const CHROMIUM: string;
export declare const CHROMIUM_ARGS: readonly string[];
export declare function chromiumMissing(): string | undefined;
export declare function launchChromium(
  options?: LaunchOptions & { viewport?: { width: number; height: number } | null },
): Promise<{ context: BrowserContext; close: () => Promise<void> }>;
