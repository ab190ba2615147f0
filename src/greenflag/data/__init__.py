"""Release-time data safety, carried out for the rollout controller: migrations run once each and journaled
(`migrations`), the expand/contract guard that runs the stable version's checks on the migrated schema (`guard`),
and cache invalidation — CloudFront and HTTP PURGE/BAN (`cdn`). The decisions (when each runs, what a result
means) are the rollout's pure step machine (`greenflag.rollout.datastages`); these modules only act and report."""
