import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";

// zod/mini loads no locale, and would say only "Invalid input" where no message of ours applies (a
// variable of the wrong type, say). English, as zod's classic API loads it, keeps those messages.
z.config(en());
