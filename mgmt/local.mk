# mgmt build fragment
