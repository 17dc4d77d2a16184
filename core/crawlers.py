"""Well-known crawlers, by their User-Agent: they are not shoppers.

A crawler keeps no cookies, so each page it fetches would be a new shopper: a new session row,
a view event feeding also viewed and the sequence model, a new arm draw and a page of
impressions nobody looks at, diluting every experiment's click-through rate (and a link
previewer fetching a shared strip link would count a click). A crawler is served what everyone
is served (no experiment's arm) and nothing is recorded or counted for it.

A short pattern list rather than a dependency: the crawlers that fetch shops in volume announce
themselves ("Googlebot", "bingbot", "AhrefsBot", "Baiduspider", ...), and a crawler that
disguises itself as a browser would pass any list. An empty User-Agent is not taken for one:
some privacy tools strip it from real browsers.
"""

import re

# "bot" but not "cubot" (CUBOT phones name themselves in their browsers' User-Agent); crawl and
# spider (Baiduspider, Sogou, Yandex's, generic "crawler"s); Yahoo's Slurp; the link previewers
# and Google's fetchers that carry no "bot" (WhatsApp's and Skype's previews too: a strip link
# shared in a chat counted a click); headless browsers and HTTP libraries (monitoring, scrapers:
# Scrapy keeps cookies, so one scraper was one huge shopper in one arm).
CRAWLER_USER_AGENT = re.compile(
    r"(?<!cu)bot|crawl|spider|slurp|bingpreview|facebookexternalhit|mediapartners-google|"
    r"google-inspectiontool|googleother|feedfetcher|whatsapp/|skypeuripreview|"
    r"headlesschrome|lighthouse|scrapy|python-requests|python-urllib|aiohttp|httpx|curl/|wget/|"
    r"go-http-client|okhttp|axios/|node-fetch|undici|java/|apache-httpclient",
    re.IGNORECASE,
)


def is_crawler(request) -> bool:
    """Whether the request's User-Agent names a well-known crawler (CRAWLER_USER_AGENT)."""
    return bool(CRAWLER_USER_AGENT.search(request.headers.get("User-Agent", "")))
