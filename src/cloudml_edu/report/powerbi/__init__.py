"""Power BI: a Parquet/CSV star schema for Power BI Desktop, and a push-dataset client."""
