# core build fragment
