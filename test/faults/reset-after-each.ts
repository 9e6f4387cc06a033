/** Leaves the proxy and Redis healthy after every fault test, whatever it did or where it failed. */
import { afterEach } from "vitest";
import { clearFault, redisProcess } from "./proxy.ts";

afterEach(async () => {
  await clearFault();
  await redisProcess("resume");
  await redisProcess("start");
});
