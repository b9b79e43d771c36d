"""政务信息资源目录: the government information resource catalog."""
