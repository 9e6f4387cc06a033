import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";

// zod/mini loads no locale, and would say only "Invalid input" where no message of ours applies. The
// build scripts load English, as zod's classic API does, for config.yaml's messages; the Worker does
// not need it (its schemas say everything in their own words) and leaves it out of its script.
z.config(en());
