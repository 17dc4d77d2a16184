"""One widget's counts per arm in one pass over its impressions: shoppers, impressions, clicks,
and the per-shopper sums the CTR intervals need to take the shopper, the unit the split
assigns, as the sampled unit (stats.ShopperSums).

Plain SQL: the per-shopper groups, each shopper's newest arm and the sums over them are one
query, where the ORM needed four, each scanning the impressions again (an experiment page
reads up to ten experiments, each with hundreds of thousands of impressions).
"""

import datetime as dt
from dataclasses import dataclass

from django.db import connection

from .. import stats
from ..models import Click, Impression

# Each impression shown up to the stop, with its clicks up to the stop, grouped per arm and
# shopper; a shopper's newest arm ranks 1 (see ArmCounts.shoppers). An impression kept under no
# shopper (session hash "": its shopper was erased, another's click on it kept) is a group of
# its own: those impressions may be any number of erased shoppers', and as one group they
# would read as one shopper clicking every one. They count in the CTR and its interval, never
# as a shopper.
_COUNTS = f"""
WITH shown AS (
    SELECT i.id, i.arm, i.session_hash, i.created_at, count(c.id) AS clicks
    FROM {Impression._meta.db_table} i
    LEFT JOIN {Click._meta.db_table} c ON c.impression_id = i.id {{clicked_until}}
    WHERE i.experiment_id = %s AND i.widget = %s {{shown_until}}
    GROUP BY i.id
), per_shopper AS (
    SELECT arm, session_hash, count(*) AS n, count(*) FILTER (WHERE clicks > 0) AS c,
           sum(clicks) AS clicks, max(created_at) AS newest, max(id) AS newest_id
    FROM shown GROUP BY arm, session_hash, CASE WHEN session_hash = '' THEN id END
), ranked AS (
    SELECT *, row_number() OVER (
        PARTITION BY session_hash ORDER BY newest DESC, newest_id DESC
    ) AS newest_rank
    FROM per_shopper
)
SELECT arm, count(*) FILTER (WHERE newest_rank = 1 AND session_hash <> ''), count(*), sum(n),
       sum(c), sum(clicks), sum(n * n), sum(c * c), sum(n * c)
FROM ranked GROUP BY arm
"""


@dataclass(frozen=True)
class ArmCounts:
    # Visitors whose newest impression is in this arm: each counted once. A shopper who signs
    # in mid-experiment brings their anonymous impressions, in the arm their anonymous id drew,
    # to their customer id, which draws its own (services.shopper_log_merge); counted in every
    # arm they have impressions in, they would skew the sample ratio check of a fair split.
    # Impressions kept under no shopper name no visitor and count none.
    shoppers: int
    clicks: int  # every click, repeats included
    # Per (arm, shopper), each impression kept under no shopper alone: impressions, clicked ones
    sums: stats.ShopperSums


def arm_counts(
    *, experiment_id: int, widget: str, counted_until: dt.datetime | None
) -> dict[str, ArmCounts]:
    """Per arm with impressions; impressions and clicks after `counted_until` (a stop) are not
    counted. A page that read the experiment as running just before the stop committed logs its
    impressions after it: shown to nobody the results can still follow, they would lower the
    CTR of final figures with every reload."""
    params: list = [experiment_id, widget]
    clicks = shown = ""
    if counted_until is not None:
        clicks, shown = "AND c.created_at <= %s", "AND i.created_at <= %s"
        params = [counted_until, *params, counted_until]
    with connection.cursor() as cursor:
        cursor.execute(_COUNTS.format(clicked_until=clicks, shown_until=shown), params)
        rows = cursor.fetchall()
    return {
        arm: ArmCounts(
            shoppers=newest,
            clicks=int(clicks),
            sums=stats.ShopperSums(groups, int(n), int(c), int(nn), int(cc), int(nc)),
        )
        for arm, newest, groups, n, c, clicks, nn, cc, nc in rows
    }
