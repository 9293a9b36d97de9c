"""cloudml-edu."""
