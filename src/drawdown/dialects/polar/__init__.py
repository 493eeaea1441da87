"""The Polar dialect: Polar's public metering API (customers, meters, events, customer
meters) under ``/polar/v1/...``, wire-identical so Polar's official SDKs work with
``server_url="http://HOST/polar"``. See docs/coming-from-polar.md."""
